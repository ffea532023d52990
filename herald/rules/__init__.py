"""Delivery rules: preferences, quiet hours and frequency caps, decided when deliveries are
planned (``decide``), and one-click unsubscribe (docs/rules.md)."""
