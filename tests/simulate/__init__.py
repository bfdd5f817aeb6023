"""Tests of the quality simulator and its evaluation harness."""
