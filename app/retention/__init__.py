"""Retention under MoPI: review dates of closed cases, reviews, and disposal."""
