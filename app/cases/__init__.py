"""Cases: one local problem worked through SARA, with its stage content and timeline."""
