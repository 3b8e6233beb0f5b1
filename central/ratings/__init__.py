"""Satisfaction ratings at central: the book of counted ratings and its statistics per department,
window and officer (`book`), and the rectification follow-up of every bad rating (`followups`).
Their HTTP door is `central/web/api_ratings.py`."""

from central.ratings.book import RatingBook, Satisfaction
from central.ratings.followups import FollowUp, FollowUpError, RatingCentralSettings, UnknownFollowUp

__all__ = ["FollowUp", "FollowUpError", "RatingBook", "RatingCentralSettings", "Satisfaction",
           "UnknownFollowUp"]
