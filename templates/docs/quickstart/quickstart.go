package main

import (
	"context"
	"fmt"
	"log"
	"os"

	petstore "github.com/petstore/petstore-go"
)

func main() {
	ctx := context.Background()
	client := petstore.New(petstore.Options{APIKey: os.Getenv("PETSTORE_API_KEY")})
	pets, err := client.Pets.List(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	newPet, err := client.Pets.Create(ctx, petstore.PetCreate{Name: "Buddy", Status: "available"})
	if err != nil {
		log.Fatal(err)
	}
	sold, err := client.Pets.Update(ctx, newPet.ID, petstore.PetUpdate{Status: "sold"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s (#%d) is %s; you had %d pets\n", sold.Name, sold.ID, sold.Status, pets.Count)
	fmt.Println("calls left this minute:", sold.LastResponse.RateLimit.Remaining)
}
