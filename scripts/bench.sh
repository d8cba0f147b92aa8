#!/usr/bin/env bash
echo "make bench: not yet (the bench harness lands with the foundation issue)"
