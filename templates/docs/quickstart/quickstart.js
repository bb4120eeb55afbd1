const PetStore = require('@petstore/sdk');

async function main() {
  const client = new PetStore({ apiKey: process.env.PETSTORE_API_KEY });
  const pets = await client.pets.list();
  const newPet = await client.pets.create({ name: 'Buddy', status: 'available' });
  await client.pets.update(newPet.id, { status: 'sold' });

  console.log(`${newPet.name} (#${newPet.id}) is sold; you had ${pets.count} pets`);
  console.log('calls left this minute:', client.lastResponse?.rateLimit?.remaining);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
