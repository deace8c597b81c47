"""The contract's names, stated once: its namespace and its operations."""

from __future__ import annotations

CONTRACT_NAMESPACE = "urn:highway-traffic:v1"
LIST_HIGHWAYS = "ListHighways"
GET_TRAVEL_TIMES = "GetTravelTimes"
REPORT_OBSERVATIONS = "ReportObservations"
OPERATIONS = (LIST_HIGHWAYS, GET_TRAVEL_TIMES, REPORT_OBSERVATIONS)
READ_OPERATIONS = frozenset({LIST_HIGHWAYS, GET_TRAVEL_TIMES})
