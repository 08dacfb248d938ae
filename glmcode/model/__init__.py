"""The model side: GLM client, stream accumulation, conversation encoding."""
