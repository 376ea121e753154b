// Swagger UI for /docs, loaded from the vendored bundle (no CDN, no inline script).
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: false,
  withCredentials: true,
});
