// Starts Swagger UI on /docs with Herald's OpenAPI document. A file, not an inline script, so
// the page's Content-Security-Policy can forbid inline scripts.
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default would send the document to validator.swagger.io for a badge.
  validatorUrl: null,
  layout: "BaseLayout",
  presets: [SwaggerUIBundle.presets.apis],
});
