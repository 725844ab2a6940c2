"""Pure rules of signoff: actions, policy decisions, approvals, grants and the audit chain.

Standard library only; time always comes in as an argument.
"""
