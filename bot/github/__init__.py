"""GitHub: the REST client and the plain records it takes and gives, App authentication, webhook
signatures, registration."""
