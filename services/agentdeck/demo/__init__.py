"""The support-desk demo: a tool catalog over a small system of record.

``agentdeck.demo.tools.demo_registry`` declares the seven demo tools; the
desk (orders, refunds, sent emails) they act on lives behind the
``agentdeck.demo.desk`` port.
"""
