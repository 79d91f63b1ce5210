"""emoconv.protocol"""
