"""events: Community activities, registration, waitlist and check-in."""
