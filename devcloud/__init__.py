"""The project's own dev cloud: a real Keystone and Glance on loopback.

Run ``python -m devcloud up|down|status|reset|seed``. Not part of the reusable app.
"""
