"""The only layer that talks to AWS: clients, key lookup and listing, policy get/put."""
