"""emoconv.reports"""
