"""Where frames come from and go to: sources, sinks, video files, preview, virtual camera."""
