// User directory client: fetches users and caches them by id.

interface User {
  id: number;
  name: string;
  email?: string;
}

const cache = new Map<number, User>();

export async function fetchUser(id: number): Promise<User> {
  const response = await fetch(`/api/users/${id}`);
  const user = JSON.parse(await response.text()) as User;
  cache.set(id, user);
  return user;
}

export function emailDomain(id: number): string {
  const user = cache.get(id)!;
  // @ts-ignore
  return user.email.split("@")[1];
}

export function tag(value: any): String {
  return (value as any).label;
}
