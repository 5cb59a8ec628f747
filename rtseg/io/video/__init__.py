"""Video files: reading and writing them with their timing (`reader`, `writer`), their audio
tracks, cover pictures and joined recordings, and their frames counted without decoding."""
