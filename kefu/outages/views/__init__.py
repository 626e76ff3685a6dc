"""Outage pages: the list, the draft form, one outage with its actions, fault proposals, reliability
figures (with the Excel export) and the SMS templates with the notice rules."""
