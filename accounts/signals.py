from django.dispatch import Signal

# Sent after commit whenever what a customer's keys may do changed: a key revoked or rotated,
# the plan changed. Receivers (metering) drop cached authorisations. Argument: customer_id.
customer_access_changed = Signal()
