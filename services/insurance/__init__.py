"""insurance: Pension and medical enrolment, elderly-care eligibility answers."""
