package petstore

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestEveryOperationIsAMethodOfTheClient(t *testing.T) {
	client := reflect.ValueOf(New(Options{APIKey: "k"})).Elem()
	names := map[string]bool{}
	routes := map[string]bool{}
	for _, op := range Operations {
		parts := strings.Split(op.Func, ".")
		service := client.FieldByName(parts[0])
		if !service.IsValid() || !service.MethodByName(parts[1]).IsValid() {
			t.Errorf("%s: no method %s", op.Name, op.Func)
		}
		route := op.HTTPMethod + " " + op.Path
		if names[op.Name] || routes[route] {
			t.Errorf("duplicate %s / %s", op.Name, route)
		}
		names[op.Name], routes[route] = true, true
	}
}

func TestBaseURLFromOptionThenEnvironmentThenProduction(t *testing.T) {
	t.Setenv("PETSTORE_BASE_URL", "http://127.0.0.1:9/")
	if got := New(Options{}).BaseURL(); got != "http://127.0.0.1:9" {
		t.Fatal(got)
	}
	if got := New(Options{BaseURL: "http://x.test/"}).BaseURL(); got != "http://x.test" {
		t.Fatal(got)
	}
	t.Setenv("PETSTORE_BASE_URL", "")
	if got := New(Options{}).BaseURL(); got != "https://api.petstore.example" {
		t.Fatal(got)
	}
}

func TestWithoutAKeyKeyedCallsRefuseAndPublicOnesWork(t *testing.T) {
	t.Setenv("PETSTORE_API_KEY", "")
	s := newStub(t, reply{status: 200, body: `{"plan": "pro", "total": "49.00"}`})
	client := New(Options{BaseURL: s.URL})
	_, err := client.Pets.List(context.Background(), nil)
	var authErr *AuthenticationError
	if !errors.As(err, &authErr) || authErr.Code != "missing_api_key" || len(s.requests()) != 0 {
		t.Fatalf("got %v", err)
	}
	quote, err := client.Pricing.Quote(context.Background(), QuoteParams{Plan: "pro", Calls: Int64(10)})
	if err != nil || *quote.Total != "49.00" {
		t.Fatalf("%v %v", quote, err)
	}
	r := s.requests()[0]
	if r.query != "calls=10&plan=pro" || r.header.Get("X-API-Key") != "" {
		t.Fatalf("%+v", r)
	}
	t.Setenv("PETSTORE_API_KEY", "ps_live_fromenv")
	if New(Options{}).apiKey != "ps_live_fromenv" {
		t.Fatal("the key is not read from PETSTORE_API_KEY")
	}
}

func TestNoDependenciesBeyondTheStandardLibrary(t *testing.T) {
	mod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mod), "require") {
		t.Fatalf("go.mod requires modules:\n%s", mod)
	}
}
