curl -s "$PETSTORE_BASE_URL/api/v1/usage" -H "X-API-Key: $PETSTORE_API_KEY"
