"""Test doubles shared by the test tiers (real servers on loopback, never mocked clients)."""
