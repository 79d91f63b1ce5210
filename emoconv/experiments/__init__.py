"""emoconv.experiments"""
