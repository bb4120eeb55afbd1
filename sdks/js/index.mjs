// ESM entry point: the same classes as the CommonJS build (one implementation).
import PetStore from './index.js';

export default PetStore;
export const {
  VERSION,
  DEFAULT_BASE_URL,
  USER_AGENT,
  OPERATIONS,
  Page,
  parseRetryAfter,
  PetStoreError,
  APIError,
  AuthenticationError,
  PermissionDeniedError,
  FeatureNotInPlanError,
  ValidationError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  QuotaExceededError,
  CreditsExhaustedError,
  KeyCapExceededError,
  APIConnectionError,
  APIConnectionTimeoutError,
  WebhookSignatureError,
  webhooks,
} = PetStore;
export { PetStore };
