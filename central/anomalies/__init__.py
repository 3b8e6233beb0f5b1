"""Anomaly monitoring and integrity-risk prevention (异常监测、廉政风险防控): rules as configuration,
evaluated incrementally over the case log and the halls' events; each hit an append-only record a
supervisor acknowledges, assigns and closes with a finding. See docs/supervision.md."""
