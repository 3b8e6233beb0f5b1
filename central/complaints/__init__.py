"""Complaints: unified acceptance, assigned handling, online feedback (统一受理、归口办理、网上反馈).

A complaint about a visit is linked to the served ticket's window, officer and
time (`visits`); the hall's recorders are told to hold that window's footage for
the visit, so it outlives the 30-day ring buffer (`holds`); the complaint is
assigned to the unit that served the citizen and tracked to its answer against
its own deadline (`desk`). Every step is appended to a hash-chained log that is
never updated in place (`log`). Its HTTP door is `central/web/api_complaints.py`.
"""

from central.complaints.desk import ComplaintDesk, ComplaintError, NewComplaint
from central.complaints.log import UnknownComplaint
from central.complaints.settings import ComplaintSettings
from central.complaints.visits import QueueEventVisits, ServedVisit

__all__ = ["ComplaintDesk", "ComplaintError", "ComplaintSettings", "NewComplaint", "QueueEventVisits",
           "ServedVisit", "UnknownComplaint"]
