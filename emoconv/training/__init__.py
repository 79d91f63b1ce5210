"""emoconv.training"""
