"""GitHub: the REST client, App authentication, webhook signatures, registration."""
