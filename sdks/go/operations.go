package petstore

// Operation is one operation of the API: its HTTP method and path template, and the method of
// the Client that calls it (Func "Pets.List" is client.Pets.List).
type Operation struct {
	Name       string `json:"name"`
	HTTPMethod string `json:"method"`
	Path       string `json:"path"`
	Func       string `json:"func"`
	Auth       bool   `json:"auth"`
}

// Operations lists every operation this SDK calls. The services dispatch through it (no other
// code holds a path), and the repository's conformance test compares it with the live OpenAPI
// schema: an operation missing here fails that test. `go run ./cmd/operations` prints it.
var Operations = []Operation{
	{"auth.register", "POST", "/api/v1/auth/register", "Auth.Register", false},
	{"pets.list", "GET", "/api/v1/pets", "Pets.List", true},
	{"pets.create", "POST", "/api/v1/pets", "Pets.Create", true},
	{"pets.retrieve", "GET", "/api/v1/pets/{id}", "Pets.Retrieve", true},
	{"pets.replace", "PUT", "/api/v1/pets/{id}", "Pets.Replace", true},
	{"pets.update", "PATCH", "/api/v1/pets/{id}", "Pets.Update", true},
	{"pets.delete", "DELETE", "/api/v1/pets/{id}", "Pets.Delete", true},
	{"pets.uploadImage", "POST", "/api/v1/pets/{id}/image", "Pets.UploadImage", true},
	{"analytics.retrieve", "GET", "/api/v1/analytics", "Analytics.Retrieve", true},
	{"usage.retrieve", "GET", "/api/v1/usage", "Usage.Retrieve", true},
	{"keys.list", "GET", "/api/v1/keys", "Keys.List", true},
	{"keys.create", "POST", "/api/v1/keys", "Keys.Create", true},
	{"keys.retrieve", "GET", "/api/v1/keys/{id}", "Keys.Retrieve", true},
	{"keys.update", "PATCH", "/api/v1/keys/{id}", "Keys.Update", true},
	{"keys.revoke", "DELETE", "/api/v1/keys/{id}", "Keys.Revoke", true},
	{"keys.rotate", "POST", "/api/v1/keys/{id}/rotate", "Keys.Rotate", true},
	{"billing.subscribe", "POST", "/api/v1/billing/subscribe", "Billing.Subscribe", true},
	{"billing.cancel", "POST", "/api/v1/billing/cancel", "Billing.Cancel", true},
	{"invoices.list", "GET", "/api/v1/billing/invoices", "Invoices.List", true},
	{"billing.credits", "GET", "/api/v1/billing/credits", "Billing.Credits", true},
	{"billing.buyCredits", "POST", "/api/v1/billing/credits", "Billing.BuyCredits", true},
	{"webhooks.list", "GET", "/api/v1/webhooks", "Webhooks.List", true},
	{"webhooks.create", "POST", "/api/v1/webhooks", "Webhooks.Create", true},
	{"webhooks.delete", "DELETE", "/api/v1/webhooks/{id}", "Webhooks.Delete", true},
	{"pricing.quote", "GET", "/api/v1/pricing/quote", "Pricing.Quote", false},
	{"thumbnails.download", "GET", "/api/v1/thumbnails/{token}.jpg", "Thumbnails.Download", false},
}

func operation(name string) Operation {
	for _, op := range Operations {
		if op.Name == name {
			return op
		}
	}
	panic("petstore: unknown operation " + name)
}
