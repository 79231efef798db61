"""Example applications the harness is demonstrated and tested on."""
