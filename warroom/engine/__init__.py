"""The doing: the scheduler, step actions, locks and claims, policies, clock and drills.

Never imports textual: the console drives the engine through `Engine.submit` and draws the
state it is given; the headless runner does the same from a shell.
"""
