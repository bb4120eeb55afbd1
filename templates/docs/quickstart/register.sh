curl -s -X POST "$PETSTORE_BASE_URL/api/v1/auth/register" \
  -H 'Content-Type: application/json' \
  -d '{"email": "you@example.com"}'
# {"customer_id": 1, "api_key": "ps_live_…", "plan": "free"}
