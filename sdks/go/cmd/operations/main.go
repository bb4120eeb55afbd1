// Command operations prints the SDK's operation table as JSON (read by the repository's
// conformance test, which compares it with the API's OpenAPI schema).
package main

import (
	"encoding/json"
	"os"

	petstore "github.com/petstore/petstore-go"
)

func main() {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(petstore.Operations); err != nil {
		os.Exit(1)
	}
}
