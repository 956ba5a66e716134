// Where the API is. Served by the backend itself, the dashboard uses its own origin (apiBase null).
// `spyops dashboard build --backend-url URL` replaces this file with the backend's URL for a copy
// served elsewhere (Azure Static Web Apps); the backend then allows that origin (CORS).
"use strict";
window.SPYOPS_CONFIG = Object.freeze({ apiBase: null });
