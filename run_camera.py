"""Webcam background blur: `python run_camera.py` (falls back to the built-in sample)."""

import sys

from rtseg.cli import camera_main

if __name__ == "__main__":
    sys.exit(camera_main())
