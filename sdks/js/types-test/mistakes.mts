// Type-checked (never run): each line below must be an error, else the types are too loose
// (an unused @ts-expect-error is itself an error).
import PetStore from '@petstore/sdk';

async function main(): Promise<void> {
  const client = new PetStore({ apiKey: 'k' });
  // @ts-expect-error a pet needs a name
  await client.pets.create({ status: 'available' });
  // @ts-expect-error no such status
  await client.pets.update(1, { status: 'lost' });
  // @ts-expect-error ids are numbers
  await client.pets.retrieve('1');
  // @ts-expect-error no such option
  new PetStore({ apiKye: 'k' });
  const pet = await client.pets.retrieve(1);
  // @ts-expect-error not a field of Pet
  void pet.colour;
}
void main;
