"""housing: Affordable rental housing, the rent subsidy and operator subsidies."""
