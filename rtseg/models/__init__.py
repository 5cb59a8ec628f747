"""The models: the bundled files, the contract they meet, the engine that runs them, their input."""
