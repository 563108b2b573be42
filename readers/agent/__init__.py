"""The card-reader agent: plain Python, no Django. It runs on each post (`python -m readers`),
scans the PC/SC readers, reads galss.ini, diagnoses what the procedure asks, and posts a report
to the dashboard."""
