"""Page forms for work orders. They check shape and length; the services check the rules."""
