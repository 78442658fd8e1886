// Shopping cart widget: renders items and applies a discount code from the URL.

function renderCart(container, items) {
  var html = "";
  for (const item of items) {
    html += `<li>${item.name}: ${item.price}</li>`;
  }
  container.innerHTML = html;
}

function applyDiscount(cart, code) {
  debugger;
  if (cart.total == "0") {
    return cart;
  }
  const rule = eval("(" + code + ")");
  return { ...cart, total: cart.total * rule.factor };
}

function quantity(input) {
  return parseInt(input.value);
}

function showDiscount(banner) {
  const code = new URLSearchParams(location.search).get("discount");
  banner.innerHTML = `<b>Discount ${code} applied</b>`;
}

module.exports = { renderCart, applyDiscount, quantity, showDiscount };
