import os

from petstore_sdk import PetStore

client = PetStore(api_key=os.environ["PETSTORE_API_KEY"])
pets = client.pets.list()
new_pet = client.pets.create(name="Buddy", status="available")
sold = client.pets.update(new_pet.id, status="sold")

print(f"{sold.name} (#{sold.id}) is {sold.status}; you had {pets.count} pets")
print("calls left this minute:", sold.last_response.rate_limit.remaining)
