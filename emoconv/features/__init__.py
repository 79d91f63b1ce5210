"""emoconv.features"""
