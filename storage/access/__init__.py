"""Who may do what: console users, API tokens, administration, the audit trail."""
