// Type-checked (never run): the CommonJS entry from TypeScript.
import PetStore = require('@petstore/sdk');

const client = new PetStore({ apiKey: 'ps_live_x' });
async function main(): Promise<void> {
  const pet: PetStore.Pet = await client.pets.retrieve(1);
  const error: PetStore.APIError = new PetStore.NotFoundError({ status: 404 });
  const op: PetStore.Operation | undefined = PetStore.OPERATIONS[0];
  void [pet, error, op];
}
void main;
