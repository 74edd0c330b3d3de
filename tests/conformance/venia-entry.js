// Bundled by venia.test.mjs with esbuild (peregrine is untranspiled ESM + JSX): Venia's own link
// chain and documents, straight from the pinned @magento/peregrine and @magento/venia-ui files.
export { default as getLinks } from '@magento/peregrine/lib/Apollo/links';
export { default as BrowserPersistence } from '@magento/peregrine/lib/util/simplePersistence';
export { deriveErrorMessage } from '@magento/peregrine/lib/util/deriveErrorMessage';
export { ApolloClient, ApolloLink, InMemoryCache } from '@apollo/client';
export { SIGN_IN, GET_CUSTOMER } from '@magento/peregrine/lib/talons/SignIn/signIn.gql';
export { CREATE_ACCOUNT } from '@magento/peregrine/lib/talons/CreateAccount/createAccount.gql';
export { SIGN_OUT } from '@magento/peregrine/lib/talons/Header/accountMenu.gql';
export {
    GET_CUSTOMER_INFORMATION,
    CHANGE_CUSTOMER_PASSWORD
} from '@magento/venia-ui/lib/components/AccountInformationPage/accountInformationPage.gql';
export { REQUEST_PASSWORD_RESET_EMAIL_MUTATION } from '@magento/venia-ui/lib/components/ForgotPassword/forgotPassword.gql';
export { RESET_PASSWORD_MUTATION } from '@magento/venia-ui/lib/components/MyAccount/ResetPassword/resetPassword.gql';
