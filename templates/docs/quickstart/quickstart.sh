# List your pets (1 unit)
curl -s "$PETSTORE_BASE_URL/api/v1/pets" -H "X-API-Key: $PETSTORE_API_KEY"

# Create a pet (2 units); keep its id
id=$(curl -s -X POST "$PETSTORE_BASE_URL/api/v1/pets" \
  -H "X-API-Key: $PETSTORE_API_KEY" -H 'Content-Type: application/json' \
  -d '{"name": "Buddy", "status": "available"}' \
  | grep -o '"id":[0-9]*' | cut -d: -f2)

# Mark it sold (2 units)
curl -s -X PATCH "$PETSTORE_BASE_URL/api/v1/pets/$id" \
  -H "X-API-Key: $PETSTORE_API_KEY" -H 'Content-Type: application/json' \
  -d '{"status": "sold"}'
